"""`zoo train pos` as a script: the recipe is `zoo.recipes.pos_tagging` (its docstring lists the flags)."""

from zoo.recipes.pos_tagging import main

if __name__ == "__main__":
    main()
