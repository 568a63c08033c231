__version__ = "0.0.1"

import warnings
# fastai 2.8 compiles a few layers with torch.jit.script when imported, which this torch calls deprecated: noise in every student's first cell, nothing they can act on
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
