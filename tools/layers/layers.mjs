// The layer order of the design card: hypervisor, net → virtio → vmm → cli.
// A package may import only the packages listed as beneath it; anything else
// (upward or sideways) is a layering error.
export const LAYERS = {
  '@vmm/hypervisor': [],
  '@vmm/net': [],
  '@vmm/virtio': ['@vmm/hypervisor', '@vmm/net'],
  '@vmm/vmm': ['@vmm/hypervisor', '@vmm/net', '@vmm/virtio'],
  '@vmm/cli': ['@vmm/hypervisor', '@vmm/net', '@vmm/virtio', '@vmm/vmm'],
};

/** The @vmm package a specifier names, or undefined for anything else. */
export function vmmPackageOf(specifier) {
  const m = /^(@vmm\/[a-z0-9-]+)(\/.*)?$/.exec(specifier);
  return m ? m[1] : undefined;
}

/** The @vmm package whose source holds `file`, from its path (packages/<dir>/...). */
export function packageOfFile(file) {
  const m = /(?:^|[\\/])packages[\\/]([a-z0-9-]+)[\\/]/.exec(file);
  return m ? `@vmm/${m[1]}` : undefined;
}

/**
 * Why `from` may not import `to`, or undefined when it may.
 * Relative imports that leave the package are caught by `crossesPackage`.
 */
export function layerViolation(from, to) {
  if (from === to) return undefined;
  const allowed = LAYERS[from];
  if (!allowed) return undefined;
  if (!(to in LAYERS)) return `${to} is not a known layer`;
  if (allowed.includes(to)) return undefined;
  const direction = LAYERS[to].includes(from) ? 'upward' : 'sideways';
  return `${from} may not depend on ${to} (${direction}); allowed: ${allowed.join(', ') || 'none'}`;
}
