"""`zoo train agreement` as a script: the recipe is `zoo.recipes.agreement` (its docstring lists the flags)."""

from zoo.recipes.agreement import main

if __name__ == "__main__":
    main()
