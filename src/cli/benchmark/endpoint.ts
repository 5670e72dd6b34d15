// Client endpoints of the load tool: `host:port`, `http://host:port[/]` or `[v6]:port`.

export interface Endpoint {
  host: string;
  port: number;
}

/** Parses `host:port`, `http://host:port` or `[v6]:port`; https is not supported by this client. */
export function parseEndpoint(s: string): Endpoint {
  let rest = s.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    const sc = scheme[1]!.toLowerCase();
    if (sc !== 'http') throw new Error(`endpoint ${s}: only http:// (plaintext h2c) endpoints are supported`);
    rest = rest.slice(scheme[0].length).replace(/\/.*$/, '');
  }
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(rest);
  if (!m) throw new Error(`endpoint ${s}: expected host:port`);
  const port = Number(m[3]);
  if (port <= 0 || port > 65535) throw new Error(`endpoint ${s}: bad port`);
  return { host: m[1] ?? m[2]!, port };
}
