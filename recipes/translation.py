"""`zoo train translation` as a script: the recipe is `zoo.recipes.translation` (its docstring lists the flags)."""

from zoo.recipes.translation import main

if __name__ == "__main__":
    main()
