"""AWS IoT topic rules on an MQTT broker: the rules' SQL (sql.py, evaluate.py), MQTT topic filters
(topics.py), the control plane (model.py, service.py) and the broker's subscriber (subscriber.py)."""
