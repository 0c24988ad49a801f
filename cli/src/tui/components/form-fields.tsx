/* @jsxRuntime automatic */
import { Text } from 'ink';
import { fit } from '../format.js';

const Label = ({ label, focused }: { label: string; focused: boolean }) => (
  <Text color={focused ? 'cyan' : undefined} bold={focused}>{focused ? '› ' : '  '}{fit(label, 11)}</Text>
);

export function TextField({ label, value, focused, placeholder, disabled }:
  { label: string; value: string; focused: boolean; placeholder?: string; disabled?: boolean }) {
  return (
    <Text wrap="truncate">
      <Label label={label} focused={focused} />
      {disabled ? <Text dimColor>(not used)</Text> : value ? <Text>{value}</Text> : <Text dimColor>{placeholder ?? ''}</Text>}
      {focused && !disabled ? <Text inverse> </Text> : null}
    </Text>
  );
}

export function ChoiceField({ label, options, value, focused }: { label: string; options: string[]; value: string; focused: boolean }) {
  return (
    <Text wrap="truncate">
      <Label label={label} focused={focused} />
      {options.map((o) => (
        <Text key={o} inverse={o === value} color={o === value ? 'green' : undefined} dimColor={o !== value}>{o === value ? `[${o}]` : ` ${o} `}</Text>
      ))}
      {focused ? <Text dimColor>  ← →</Text> : null}
    </Text>
  );
}

export function CheckboxRow({ label, options, checked, focused, cursor }:
  { label: string; options: readonly string[]; checked: ReadonlySet<string>; focused: boolean; cursor: number }) {
  return (
    <Text wrap="truncate">
      <Label label={label} focused={focused} />
      {options.map((o, i) => (
        <Text key={o} inverse={focused && i === cursor} color={checked.has(o) ? 'green' : undefined}>
          {checked.has(o) ? '[x]' : '[ ]'} {o}{' '}
        </Text>
      ))}
      {focused ? <Text dimColor> ← → space</Text> : null}
    </Text>
  );
}
