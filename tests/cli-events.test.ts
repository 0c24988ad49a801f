/** `nsbox events`' docker translation, without containers: times, filters, JSON, templates. CI budget: < 1 s. */
import test from 'ava';

import { checkTemplate, line, matches, nanos, parseFilters, parseTime, template, toDocker, toJson } from '../cli/src/commands/events/docker.js';

const exit = { type: 'exit' as const, time: '2026-12-05T14:51:01.123456789Z', id: 'a'.repeat(64), name: 'web', exitCode: 137, signal: 'SIGKILL' };

test('times: RFC 3339, Unix seconds and Go durations before now, as docker reads them', (t) => {
  const now = Date.UTC(2026, 11, 5, 15, 0, 0);
  t.is(parseTime('--since', '2026-12-05T14:51:01Z').getTime(), Date.UTC(2026, 11, 5, 14, 51, 1));
  t.is(parseTime('--since', '2026-12-05T15:51:01+01:00').getTime(), Date.UTC(2026, 11, 5, 14, 51, 1));
  t.is(parseTime('--since', '1796482261.5').getTime(), 1796482261500);
  t.is(parseTime('--since', '10m', now).getTime(), now - 600_000);
  t.is(parseTime('--since', '1h30m', now).getTime(), now - 5_400_000);
  t.is(parseTime('--until', '0s', now).getTime(), now);
  t.throws(() => parseTime('--until', 'soon'), { message: /^--until: invalid time "soon"/ });
});

test('nanoseconds are exact; the JSON message is docker\'s', (t) => {
  t.is(nanos(exit.time), 1796482261123456789n);
  t.is(nanos('2026-12-05T14:51:01Z'), 1796482261000000000n);
  const d = toDocker(exit);
  t.is(line(exit, d), `2026-12-05T14:51:01.123456789Z container die ${exit.id} (exitCode=137, name=web)`);
  const json = toJson(d);
  t.true(json.includes('"timeNano":1796482261123456789'), json);
  t.like(JSON.parse(json), { status: 'die', id: exit.id, Type: 'container', Action: 'die', scope: 'local', time: 1796482261, Actor: { ID: exit.id, Attributes: { exitCode: '137', name: 'web' } } });
  const kill = toDocker({ ...exit, type: 'kill', signal: 'SIGTERM' });
  t.deepEqual(kill.Actor.Attributes, { name: 'web', signal: '15' });
  t.is(toDocker({ ...exit, type: 'remove' }).Action, 'destroy');
});

test('filters: values of a key are alternatives, keys must all match; ours and docker\'s event names', (t) => {
  const d = toDocker(exit);
  t.true(matches(parseFilters(['event=oom', 'event=die']), exit, d));
  t.true(matches(parseFilters(['event=exit', 'container=web']), exit, d));
  t.true(matches(parseFilters([`container=${exit.id.slice(0, 12)}`, 'type=container']), exit, d));
  t.false(matches(parseFilters(['event=die', 'container=db']), exit, d));
  t.throws(() => parseFilters(['image=x']), { message: /--filter: invalid filter "image=x"/ });
  t.throws(() => parseFilters(['event=boom']), { message: /--filter: unknown event "boom"/ });
});

test('templates: fields, Actor attributes, json, and unknown fields refused up front', (t) => {
  const d = toDocker(exit);
  t.is(template('{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}} {{.TimeNano}}', d), 'die web 137 1796482261123456789');
  t.is(template('{{json .Actor.Attributes}}', d), '{"name":"web","exitCode":"137"}');
  t.is(template('{{.Actor.Attributes.signal}}', d), '<no value>');
  t.notThrows(() => checkTemplate('{{.Status}} {{.ID}} {{.Type}} {{.Time}} {{.Scope}}', d));
  t.throws(() => checkTemplate('{{.Image}}', d), { message: /unknown field \{\{\.Image\}\}/ });
  t.throws(() => checkTemplate('{{range .}}x{{end}}', d), { message: /only \{\{\.Field\}\}/ });
});
