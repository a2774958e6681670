from .utils.data import *  # noqa: F401,F403  (ember.data is ember.utils.data)
