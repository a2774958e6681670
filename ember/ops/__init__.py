"""ember's primitive ops, one module per kind; each attaches its Tensor methods on import."""
from .elementwise import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .movement import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
