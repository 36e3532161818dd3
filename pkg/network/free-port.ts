// A free host port chosen by the kernel, for backends that cannot pick a random port
// themselves (slirp4netns's add_hostfwd, pasta's -t). Another process may take it before the
// backend binds it; the backend then fails like any taken port.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

export function freePort(protocol: string, hostIp: string): Promise<number> {
  const host = hostIp || '0.0.0.0';
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      sock.once('error', reject);
      sock.bind(0, host, () => {
        const port = sock.address().port;
        sock.close(() => resolve(port));
      });
      return;
    }
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
