"""The one exception type the pages catch and show with ``st.error``."""


class TorchstartError(ValueError):
    """A problem with the learner's input, carrying a message that says what to fix.

    Pages show ``str(err)`` as it is, so the message must read as a sentence a
    learner can act on: what was wrong, and what to do instead.
    """
