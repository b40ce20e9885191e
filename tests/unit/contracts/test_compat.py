import sys
def test_x():
    print(sys.path[:4])
    import app.contracts.spec  # noqa
