"""`zoo train sensor` as a script: the recipe is `zoo.recipes.sensor_classification` (its docstring lists the flags)."""

from zoo.recipes.sensor_classification import main

if __name__ == "__main__":
    main()
