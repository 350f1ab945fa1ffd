"""Names vulture cannot see used (`vulture` reads [tool.vulture] in pyproject.toml: ci_tags and this file). Each
is called by a framework or read by people and tests, never by ci_tags' own code."""

from ci_tags.ci.status import PipelineStatus
from ci_tags.core.dockerfile_lines import Node
from ci_tags.core.policy import REASONS
from ci_tags.oci.adapter import TrustingAdapter

# requests calls these hooks of an HTTPAdapter, and urllib3 reads the attributes set on the connection
TrustingAdapter.cert_verify
_.cert_reqs
_.ca_cert_dir

# PyYAML calls Dumper.ignore_aliases (ci_tags/core/emitters.py)
_.ignore_aliases

# signal.signal's handlers take (signum, frame)
frame

# data read by callers of the library and by the tests: the jobs a CI API reported (pagination read whole),
# where a Dockerfile instruction ends (as BuildKit's parser keeps it), the policy's rules in the order they apply
PipelineStatus.jobs_seen
Node.end_line
REASONS

# requests reads Session.trust_env (ci_tags/oci/http.py turns it off on its own session)
_.trust_env
