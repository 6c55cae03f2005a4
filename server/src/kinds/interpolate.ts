import { SECRETS, type WithSecrets } from '../secrets/references'

/**
 * Replaces `${name}` with the parameter's value and `${secret.NAME}` with the
 * organization secret attached to the run, each passed through `encode`.
 * Unknown names fail loudly rather than silently becoming empty strings.
 */
export function interpolate(
  template: string,
  values: WithSecrets<Record<string, unknown>>,
  encode: (s: string) => string,
): string {
  return template.replace(
    /\$\{(secret\.)?([A-Za-z_][A-Za-z0-9_]*)\}/g,
    (_, secret: string | undefined, name: string) => {
      if (secret) {
        const v = values[SECRETS]?.get(name)
        if (v === undefined) throw new Error(`\${secret.${name}} is not a secret of this organization`)
        return encode(v)
      }
      if (!(name in values)) throw new Error(`\${${name}} is not a parameter of this run`)
      const v = values[name]
      return encode(typeof v === 'string' ? v : JSON.stringify(v))
    },
  )
}
