// The built entry dist/src/cli.js: bin/gate.js imports it, and a deployed service is started as
// `node dist/src/cli.js ingest serve|worker` from a built tree, so this path stays. The commands are in src/cli/.

import "./cli/index.js";
