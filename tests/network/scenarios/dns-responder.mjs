// A tiny DNS server for the rootless scenarios (run as its own process: the scenario blocks its
// event loop in spawnSync while containers run). Answers A queries for NAME with ADDR, every other
// query with an empty NOERROR; prints each query's name on stdout. Usage: dns-responder.mjs BIND NAME ADDR
import dgram from 'node:dgram';

const [bind, name, addr] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');
sock.on('message', (q, rinfo) => {
  if (q.length < 17) return;
  // The question: labels from offset 12 to a zero byte, then QTYPE and QCLASS.
  let i = 12;
  const labels = [];
  while (i < q.length && q[i] !== 0) {
    labels.push(q.subarray(i + 1, i + 1 + q[i]).toString('latin1'));
    i += q[i] + 1;
  }
  const qend = i + 5;
  const qtype = q.readUInt16BE(i + 1);
  const asked = labels.join('.').toLowerCase();
  process.stdout.write(`query ${asked} type ${qtype} from ${rinfo.address}\n`);
  const hit = asked === name && qtype === 1;
  const head = Buffer.alloc(12);
  q.copy(head, 0, 0, 2); // id
  head.writeUInt16BE(0x8180 | (asked === name || !asked.endsWith('.test') ? 0 : 3), 2); // QR RD RA; NXDOMAIN for other .test names
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(hit ? 1 : 0, 6);
  const answer = hit ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...addr.split('.').map(Number)]) : Buffer.alloc(0);
  sock.send(Buffer.concat([head, q.subarray(12, qend), answer]), rinfo.port, rinfo.address);
});
sock.bind(53, bind, () => process.stdout.write('ready\n'));
