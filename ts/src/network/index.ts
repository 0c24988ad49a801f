/** Networking: Docker's model (bridge, veth, netns) from TypeScript. Importing this enables the start hook. */
import { enableNetworking } from './hook.js';

export {
  createNetwork, listNetworks, inspectNetwork, removeNetwork, pruneNetworks, attachContainer, detachContainer, portSpec,
  settleNetworkTeardown,
} from './api.js';
export { networkStartHook, enableNetworking, disableNetworking } from './hook.js';
export type {
  Network, NetworkSummary, NetworkDetail, EndpointDetail, Endpoint, LinkInfo, PublishedPort, PortSpec,
  CreateNetworkOptions, AttachOptions, DetachOptions, NetworkClientOptions,
} from './types.js';

enableNetworking();
