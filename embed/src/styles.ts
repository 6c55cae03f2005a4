/**
 * The shadow root's stylesheet. Pages theme the button through these custom
 * properties (they inherit through the shadow boundary) or `::part(button)`,
 * `::part(label)`, `::part(spinner)`, `::part(status)`, `::part(elapsed)`.
 *
 * --run-button-background, --run-button-color, --run-button-border,
 * --run-button-radius, --run-button-padding, --run-button-font,
 * --run-button-focus, --run-button-gap, --run-button-muted,
 * --run-button-success, --run-button-error
 */
export const css = `
:host{display:inline-flex;align-items:center;flex-wrap:wrap;gap:var(--run-button-gap,.6em);font:var(--run-button-font,inherit);vertical-align:middle}
:host([hidden]){display:none}
button{display:inline-flex;align-items:center;gap:.5em;font:inherit;line-height:1.2;cursor:pointer;padding:var(--run-button-padding,.5em 1em);border:var(--run-button-border,0);border-radius:var(--run-button-radius,6px);background:var(--run-button-background,#2563eb);color:var(--run-button-color,#fff)}
button:hover:not(:disabled){filter:brightness(1.1)}
button:focus-visible{outline:2px solid var(--run-button-focus,#2563eb);outline-offset:2px}
button:disabled{cursor:progress;opacity:.8}
[part=spinner]{display:none;width:.8em;height:.8em;border:2px solid;border-right-color:transparent;border-radius:50%;animation:s 1s linear infinite}
button:disabled [part=spinner]{display:inline-block}
@keyframes s{to{transform:rotate(1turn)}}
@media (prefers-reduced-motion:reduce){[part=spinner]{animation-duration:4s}}
[part=status],[part=elapsed]{color:var(--run-button-muted,#4b5563)}
[part=elapsed]{font-variant-numeric:tabular-nums}
:host([state=SUCCEEDED]) [part=status]{color:var(--run-button-success,#15803d)}
:host([state=FAILED]) [part=status],:host([state=TIMED_OUT]) [part=status],:host([state=ERROR]) [part=status]{color:var(--run-button-error,#b91c1c)}
`
