"""Jobs that tie the layers together: scenario -> cache -> windows -> models -> trainer -> evaluation."""
