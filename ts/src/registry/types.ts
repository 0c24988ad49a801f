/** Types of the registry API (pull, push, login, logout). */

/** Where the registry side finds its files; all optional (defaults in docs/images.md). */
export interface RegistryClientOptions {
  /** The image store's root (default NSBOX_STORE, else /var/lib/nsbox as root, $XDG_DATA_HOME/nsbox otherwise). */
  store?: string;
  /** Mirrors and insecure registries (`host[:port]` or CIDRs), docker's daemon.json keys (default NSBOX_REGISTRIES_CONFIG, else /etc/nsbox/registries.json). */
  registriesConfig?: string;
  /**
   * docker's certs.d layout: `DIR/HOST[:PORT]/` with `*.crt` CAs and a `client.cert`/`client.key` pair
   * (default NSBOX_CERTS_DIR, else /etc/nsbox/certs.d, and $XDG_CONFIG_HOME/nsbox/certs.d when not root).
   */
  certsDir?: string;
  /** Credentials written by login (default $XDG_CONFIG_HOME/nsbox/auth.json or NSBOX_AUTH_FILE). */
  authFile?: string;
}

export type LayerState = 'waiting' | 'exists' | 'downloading' | 'extracting' | 'complete' | 'pushing' | 'pushed' | 'mounted';

export type ProgressEvent =
  | { kind: 'resolved'; reference: string; digest: string; layers: Array<{ digest: string; size: number }> }
  | { kind: 'layer'; digest: string; state: LayerState; current: number; total: number; /** `mounted`: the repository it came from. */ from?: string };

export interface PullOptions extends RegistryClientOptions {
  /** `os/arch[/variant]`; default this machine's. */
  platform?: string;
  /** Called on the JS thread for each step of each layer (bytes so far while downloading). */
  onProgress?: (event: ProgressEvent) => void;
  /** Aborting stops the downloads; nothing half-fetched is kept. */
  signal?: AbortSignal;
}

export interface PulledLayer {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  /** Already in the store before this pull. */
  existed: boolean;
}

export interface PullResult {
  /** Normalized: `docker.io/library/alpine:latest`. */
  reference: string;
  /** What the reference points at in the registry (the index for multi-platform images): docker's `Digest:`. */
  digest: string;
  /** This platform's image manifest. */
  manifest: string;
  config: string;
  layers: PulledLayer[];
  /** False when everything was already stored (docker's "Image is up to date"). */
  downloaded: boolean;
  /** The host that served it (a mirror, or the registry). */
  endpoint: string;
}

export interface PushOptions extends RegistryClientOptions {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface PushResult {
  reference: string;
  digest: string;
  size: number;
}

export interface LoginOptions extends RegistryClientOptions {
  username: string;
  password: string;
}

export interface LoginResult {
  /** The key the credentials are stored under (`https://index.docker.io/v1/` for Docker Hub). */
  server: string;
  authFile: string;
}

export interface LogoutResult extends LoginResult {
  /** False when there were no credentials for it. */
  removed: boolean;
}
