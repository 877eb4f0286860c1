"""The integration tests use FakeBill and the SDK client from the pytest plugin, as users get them: the plugin is
registered for the whole suite in tests/conftest.py (``pytest_plugins``), so there is nothing to set up here."""
