"""The offline path: the real program under the SDK's mocks, recorded into a plan."""
