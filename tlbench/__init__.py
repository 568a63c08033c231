__version__ = "0.0.1"

import warnings

def quiet_known_warnings():
    "Hide the warnings a user can do nothing about. Called on import; again by anything that resets the warning filters (the in-process CLI tests)."
    # fastai 2.8 compiles a few layers with torch.jit.script when imported, which this torch calls deprecated: noise in every student's first cell
    warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)

quiet_known_warnings()
