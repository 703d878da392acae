"""The bundled sample news site used by `make demo` and the tests."""
