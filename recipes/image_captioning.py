"""`zoo train captioning` as a script: the recipe is `zoo.recipes.image_captioning` (its docstring lists the flags)."""

from zoo.recipes.image_captioning import main

if __name__ == "__main__":
    main()
