"""Support beacons (spec/beacons.md): the service and its local API."""
