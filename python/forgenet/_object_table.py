"""Keras's get / serialize / deserialize for a family of small config objects (regularizers,
constraints): one rule, each family gives its classes, its string aliases and its Keras module."""
from __future__ import annotations


class ObjectTable:
    def __init__(self, kind: str, module: str, classes, aliases: dict):
        self.kind, self.module = kind, module
        self.classes = {c.__name__: c for c in classes}
        self.aliases = aliases

    def get(self, identifier):
        if identifier is None:
            return None
        if isinstance(identifier, dict):
            cls = self.classes.get(identifier.get("class_name"))
            if cls is None:
                raise ValueError(f"Unknown {self.kind} class {identifier.get('class_name')!r}; expected one of "
                                 f"{sorted(self.classes)}")
            return cls.from_config(identifier.get("config", {}))
        if isinstance(identifier, str):
            cls = self.aliases.get(identifier) or self.classes.get(identifier)
            if cls is None:
                raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}; expected one of "
                                 f"{sorted(self.aliases)}")
            return cls()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {self.kind} identifier: {identifier!r}")

    def serialize(self, obj):
        if obj is None:
            return None
        return {"module": self.module, "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}

    def deserialize(self, config, custom_objects=None):
        if isinstance(config, dict) and custom_objects and config.get("class_name") in custom_objects:
            return custom_objects[config["class_name"]].from_config(config.get("config", {}))
        return self.get(config)
