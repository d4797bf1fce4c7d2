"""`zoo train language-model` as a script: the recipe is `zoo.recipes.language_model` (its docstring lists the flags)."""

from zoo.recipes.language_model import main

if __name__ == "__main__":
    main()
