/**
 * One keyboard dispatcher for the whole app: ink's useInput is called once (in App), and each key goes to
 * the registered handlers from the highest layer down until one returns true. Modal layers (text inputs,
 * overlays) simply return true for everything, so `q` typed into a filter never quits.
 */
import type { Key } from 'ink';
import { createContext, useContext, useLayoutEffect, useRef } from 'react';

export type KeyHandler = (input: string, key: Key) => boolean | void;

export const LAYER = { view: 1, tab: 2, editing: 3, overlay: 4 } as const;

interface Entry { layer: number; seq: number; ref: { current: KeyHandler } }

export class KeyRouter {
  private entries: Entry[] = [];
  private seq = 0;
  add(layer: number, ref: { current: KeyHandler }): () => void {
    const e = { layer, seq: ++this.seq, ref };
    this.entries.push(e);
    return () => { this.entries = this.entries.filter((x) => x !== e); };
  }
  /** true when some handler consumed the key. */
  dispatch(input: string, key: Key): boolean {
    const order = [...this.entries].sort((a, b) => b.layer - a.layer || b.seq - a.seq);
    for (const e of order) if (e.ref.current(input, key) === true) return true;
    return false;
  }
  /** true while a modal layer (editing or overlay) is registered. */
  get modal(): boolean { return this.entries.some((e) => e.layer >= LAYER.editing); }
}

export const KeyContext = createContext<KeyRouter>(new KeyRouter());

/** Registers `handler` at `layer` while `active` — in the commit itself, so a key arriving right after a frame finds it. */
export function useKeys(layer: number, handler: KeyHandler, active = true): void {
  const router = useContext(KeyContext);
  const ref = useRef(handler);
  ref.current = handler;
  useLayoutEffect(() => (active ? router.add(layer, ref) : undefined), [router, layer, active]);
}
