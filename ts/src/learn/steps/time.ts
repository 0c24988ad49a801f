/** S11: boot-time and monotonic clock offsets of its own. */
import { readFileSync } from 'node:fs';

import { LONG_RUNNING, readText, t, timeNamespace } from '../host.js';
import { SECTIONS, type StepDef } from './def.js';

const YEAR = 365 * 86400;
const uptime = (text: string) => Number(text.split(' ')[0]);

export const s11: StepDef = {
  id: 'S11',
  section: SECTIONS.namespaces,
  title: t('time: booted a year ago', 'time：一年前“开机”'),
  claim: t(
    'A time namespace carries its own offsets for CLOCK_BOOTTIME and CLOCK_MONOTONIC. With a boot-time offset of a year, /proc/uptime inside says the machine has been up a year longer than the host says.',
    'time namespace 为 CLOCK_BOOTTIME 和 CLOCK_MONOTONIC 保存自己的偏移量。设置一年的 boottime 偏移后，容器内的 /proc/uptime 会比宿主机多出一年。',
  ),
  commands: {
    nsbox: [`nsbox run --boottime-offset ${YEAR} --monotonic-offset -10 -- cat /proc/uptime`, 'cat /proc/uptime'],
    manual: [`unshare --time --fork --boottime ${YEAR} --monotonic -10 cat /proc/uptime`],
  },
  extraOptions: [],
  supported: async () => timeNamespace(),
  async body(lab) {
    const c = await lab.container('box', { boottimeOffset: YEAR, monotonicOffset: -10, command: LONG_RUNNING });
    const before = uptime(readFileSync('/proc/uptime', 'utf8'));
    const inside = uptime((await lab.exec(c, ['cat', '/proc/uptime'])).stdout);
    const after = uptime(readFileSync('/proc/uptime', 'utf8'));
    const offsets = readText(`/proc/${c.pid}/timens_offsets`).trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    const days = (s: number) => `${s.toFixed(2)} s (${(s / 86400).toFixed(1)} days)`;
    // Bounds, not timing: the inside reading was taken between the two host readings.
    const shown = inside >= before + YEAR && inside <= after + YEAR + 1 && offsets.includes(`boottime ${YEAR} 0`);
    return lab.session(shown, shown
      ? t('/proc/uptime inside is the host\'s plus one year: the boot-time offset is in place', '容器内的 /proc/uptime 等于宿主机的加一年：boottime 偏移已生效')
      : t(`inside ${inside}, host ${before}..${after}, offsets ${offsets.join('; ')}`, `容器内 ${inside}，宿主机 ${before}..${after}，偏移 ${offsets.join('；')}`), [
      {
        kind: 'compare', title: t('/proc/uptime', '/proc/uptime'), columns: ['host', 'container'],
        rows: [{ label: 'uptime', left: days(before), right: days(inside), same: false }],
      },
      { kind: 'lines', title: t('/proc/PID/timens_offsets (clock, seconds, nanoseconds)', '/proc/PID/timens_offsets（时钟、秒、纳秒）'), lines: offsets },
    ]);
  },
};
