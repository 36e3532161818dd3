// What the network unit tests share: a `network create` request with every field at its default.
import type { NetworkCreateRequest } from '../../pkg/network/network-create';

export const networkRequest = (over: Partial<NetworkCreateRequest> = {}): NetworkCreateRequest => ({
  name: 'web',
  driver: 'bridge',
  subnets: [],
  gateways: [],
  ipRanges: [],
  internal: false,
  ipv6: false,
  labels: {},
  options: {},
  rootless: true,
  ...over,
});
