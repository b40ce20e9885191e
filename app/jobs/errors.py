"""Job queue errors. They signal concurrency to runners and are not client (HTTP) errors."""


class LeaseLost(Exception):
    """The job's lease was taken over (or the job finished): this claim may change nothing.

    Raised inside the transaction that tried the change, so the runner rolls it back, together
    with any result the handler wrote in it.
    """
