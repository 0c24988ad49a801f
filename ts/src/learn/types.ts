/**
 * Learn mode's contract: one step per claim of the seed article (S1–S15). The TS library builds the
 * steps (`learnSteps()`), the CLI's `learn --check` and the TUI's Learn view render them, and so could a
 * web page or a notebook: everything a step shows is data here, nothing is canned.
 */

export const CLAIM_IDS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11', 'S12', 'S13', 'S14', 'S15'] as const;
export type ClaimId = (typeof CLAIM_IDS)[number];
export type Lang = 'en' | 'zh';
/** A text in both of the article's languages. */
export interface Text { en: string; zh: string }

export interface LearnOptions {
  /** Abort a running step: everything it started is removed before run() rejects with AbortError. */
  signal?: AbortSignal;
}

/** Why a step can or cannot be shown on this host, decided before anything is started. */
export type Support = { ok: true } | { ok: false; reason: Text };

export interface LearnStep {
  id: ClaimId;
  /** The seed article's section this claim comes from (its own heading, and an English rendering). */
  section: Text;
  title: Text;
  /** Two or three sentences of our own saying the claim. */
  claim: Text;
  /** What a reader could type: the nsbox command(s) and the unshare/ip equivalent(s). */
  commands: { nsbox: string[]; manual: string[] };
  /** Options the step needs beyond a default container (e.g. S5's mount inside), and why; empty when none. */
  extraOptions: Text[];
  /** Whether this host can show the step for the calling user; never throws. */
  supported(): Promise<Support>;
  /**
   * Starts the step's containers, gathers the kernel's evidence and checks the claim against it.
   * The session stays open (its containers alive) until close(), so a viewer can let the user run a
   * command of their own inside (exec). Rejects with a typed NsboxError when the host cannot do it.
   */
  run(options?: LearnOptions): Promise<StepSession>;
}

export interface StepSession {
  step: ClaimId;
  /** The claim checked against the kernel: shown only when the evidence proves it. */
  verdict: { shown: boolean; detail: Text };
  evidence: Evidence[];
  /** Containers this step runs, for exec (`e`): id, a short label, and whether it is still running. */
  containers: { id: string; label: string; pid: number }[];
  /** Runs a command in one of the step's containers (default: the first) and returns its output. */
  exec(command: string[], containerId?: string): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  /** Removes everything the step started; collects every failure and reports them all (TeardownError). */
  close(): Promise<void>;
}

/** One piece of evidence, container beside host (or container beside container). */
export type Evidence =
  | {
    kind: 'compare';
    title: Text;
    /** Column headings, e.g. ['host', 'container'] or ['box-a', 'box-b']. */
    columns: [string, string];
    rows: { label: string; left: string; right: string; same: boolean }[];
  }
  | { kind: 'lines'; title: Text; lines: string[] }
  | { kind: 'topology'; title: Text; bridges: TopologyBridge[]; probes: Probe[] };

export interface TopologyBridge {
  name: string;
  /** The gateway address with prefix (S13), undefined for an L2-only bridge. */
  address?: string;
  ifindex: number;
  mac: string;
  endpoints: {
    container: string;
    hostVeth: { name: string; ifindex: number; mac: string };
    eth0: { ifindex: number; mac: string; address: string; peerIfindex: number };
  }[];
}

/** A ping/TCP attempt between two containers and what happened (S14). */
export interface Probe { from: string; to: string; address: string; kind: 'ping' | 'tcp'; ok: boolean; expected: boolean }
