"""Dialogue rules the assistant adds to Rasa's policies (run inside the Rasa server).

Importing the package also makes Rasa's TensorFlow models load faster
(policies/model_loading.py): Rasa imports it before it loads any component.
"""

from policies import model_loading

model_loading.apply()
