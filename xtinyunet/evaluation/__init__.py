"""A trained model's predictions of the test set, their metrics, and the model's complexity."""
