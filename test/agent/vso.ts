/** Parses what a task prints: `##vso[area.action k=v;...]message` lines, as the agent does. */
export interface VsoCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

export function parseVsoLine(line: string): VsoCommand | undefined {
  const m = /^##vso\[([\w.]+)(?:\s+([^\]]*))?\](.*)$/.exec(line);
  if (!m) return undefined;
  const properties: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) properties[part.slice(0, at).trim()] = unescapeProperty(part.slice(at + 1));
  }
  return { command: m[1], properties, message: unescapeData(m[3]) };
}

// Reverse of task-lib's escaping (taskcommand.ts): data escapes % CR LF, properties also ] and ;.
function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%AZP25/g, '%');
}

function unescapeProperty(s: string): string {
  return unescapeData(s.replace(/%3B/g, ';').replace(/%5D/g, ']'));
}
