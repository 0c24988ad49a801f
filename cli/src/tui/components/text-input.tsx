/* @jsxRuntime automatic */
import { Text } from 'ink';
import { LAYER, useKeys } from '../hooks/use-keys.js';

interface Props {
  label: string;
  value: string;
  onChange: (v: string) => void;
  onSubmit?: (v: string) => void;
  onCancel?: () => void;
  /** While active it captures every key; Enter submits, Esc cancels. */
  active: boolean;
  placeholder?: string;
  /** Shown dimmed after the value: what the keys do now. */
  hint?: string;
}

/** A one-line input. Printable keys append, Backspace deletes, Ctrl+U clears. */
export function TextInput({ label, value, onChange, onSubmit, onCancel, active, placeholder, hint }: Props) {
  useKeys(LAYER.editing, (input, key) => {
    if (key.return) onSubmit?.(value);
    else if (key.escape) onCancel?.();
    else if (key.backspace || key.delete) onChange(value.slice(0, -1));
    else if (key.ctrl && input === 'u') onChange('');
    else if (!key.ctrl && !key.meta && input && !key.upArrow && !key.downArrow && !key.tab) {
      // Fast typing or a paste can bring the Enter in the same chunk as the text.
      const end = input.search(/[\r\n]/);
      const v = value + (end < 0 ? input : input.slice(0, end)).replace(/\t/g, '');
      onChange(v);
      if (end >= 0) onSubmit?.(v);
    }
    return true;
  }, active);
  return (
    <Text>
      <Text color="cyan">{label}</Text>
      {value || !placeholder ? <Text>{value}</Text> : <Text dimColor>{placeholder}</Text>}
      {active ? <Text inverse> </Text> : null}
      {hint ? <Text dimColor>  {hint}</Text> : null}
    </Text>
  );
}
