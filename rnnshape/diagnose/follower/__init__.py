"""The static shape follower of ``rnnshape diagnose``.

values.py (the abstract values), rules.py (torch's ops as a registry of shape rules),
statements.py, expressions.py, layers.py (nn.* and the recurrent calls), rewrite.py (fix
rewriting), core.py (the :class:`Follower` that joins them).
"""

from rnnshape.diagnose.follower.core import Follower
from rnnshape.diagnose.follower.values import DTYPES, Finding, FollowResult, Rewrite, Shown, hint_tensor

__all__ = ["DTYPES", "Finding", "FollowResult", "Follower", "Rewrite", "Shown", "hint_tensor"]
