// ESLint rule `layers/no-upward-import`: fails on an import that points upward
// or sideways in the layer order, by package name or by a relative path that
// climbs into another package's directory.
import path from 'node:path';
import { layerViolation, packageOfFile, vmmPackageOf } from './layers.mjs';

function check(context, node, specifier) {
  if (typeof specifier !== 'string') return;
  const file = context.filename ?? context.getFilename();
  const from = packageOfFile(file);
  if (!from) return;
  let to = vmmPackageOf(specifier);
  if (!to && specifier.startsWith('.')) {
    to = packageOfFile(path.resolve(path.dirname(file), specifier) + path.sep);
  }
  if (!to) return;
  const why = layerViolation(from, to);
  if (why) context.report({ node, message: `Layer violation: ${why}.` });
}

const rule = {
  meta: { type: 'problem', docs: { description: 'enforce the package layer order' }, schema: [] },
  create(context) {
    return {
      ImportDeclaration: (node) => check(context, node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(context, node, node.source.value),
      ExportAllDeclaration: (node) => check(context, node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(context, node, node.source.value),
    };
  },
};

export default { rules: { 'no-upward-import': rule } };
