/**
 * Replaces `${name}` with the parameter's value passed through `encode`. Unknown
 * names fail loudly rather than silently becoming empty strings.
 */
export function interpolate(
  template: string,
  values: Record<string, unknown>,
  encode: (s: string) => string,
): string {
  return template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`\${${name}} is not a parameter of this run`)
    const v = values[name]
    return encode(typeof v === 'string' ? v : JSON.stringify(v))
  })
}
