/** How a step file describes a step: everything of LearnStep but run(), plus the body run in a lab. */
import type { Lab } from '../lab.js';
import type { LearnStep, StepSession, Text } from '../types.js';

export interface StepDef extends Omit<LearnStep, 'run'> {
  body(lab: Lab): Promise<StepSession>;
}

/** The seed article's sections (its own headings), with an English rendering. */
export const SECTIONS = {
  namespaces: { zh: '1.什么是Linux Namespace', en: '1. What is a Linux namespace' },
  dockerNet: { zh: '2.Docker的网络隔离机制', en: '2. Docker\'s network isolation' },
  veth: { zh: '3.什么是VETH、Linux Bridge、Linux Network Namspace', en: '3. What are veth, the Linux bridge and the network namespace' },
  uts: { zh: '4.Docker 的 Hostname 隔离机制——Linux UTS Namespace', en: '4. Docker\'s hostname isolation: the UTS namespace' },
  ipc: { zh: '5.Docker 的 IPC 隔离机制——Linux IPC Namespace', en: '5. Docker\'s IPC isolation: the IPC namespace' },
  mnt: { zh: '6.Docker 的 Mount 隔离机制——Linux Mount Namespace', en: '6. Docker\'s mount isolation: the mount namespace' },
  pid: { zh: '7.Docker 的 PID 隔离机制——Linux PID Namespace', en: '7. Docker\'s PID isolation: the PID namespace' },
  user: { zh: '8.Docker 的 User 隔离机制——Linux User Namespace', en: '8. Docker\'s user isolation: the user namespace' },
} satisfies Record<string, Text>;
