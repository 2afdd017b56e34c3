// The target room's one door: what is deployed (deployment, a commit's build in service-source/, the sealed room in
// room/) and the RBAC probe. Other folders import only what is listed here.

export { cliPath, type Credentials, deploy, type Deployment, DeploymentError } from "./deployment.js";
export { probeRbac } from "./rbac-probe.js";
export type { RoomOptions } from "./room/index.js";
export { logTail, ServiceSourceError } from "./service-source/index.js";
export { type CommitSource, type PreparedTarget, prepareTarget, roomLine } from "./target-service.js";
