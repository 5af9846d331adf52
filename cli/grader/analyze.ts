/**
 * Static checks on a submission's own code: did it use a library function that a part puts off
 * limits? Looks through aliases (`import { maskedSoftmax as ms }`, `const f = maskedSoftmax`),
 * namespaces (`kit.maskedSoftmax`, `kit['maskedSoftmax']`), re-exports, and flags what it cannot
 * follow (computed access `kit['masked' + 'Softmax']`, passing the namespace around,
 * `require`, `import()`, imports of other modules or of the kit's files, `eval`, `Function`,
 * `.constructor`, `globalThis`). Conservative on purpose: an unfollowable access counts as a use.
 */
import ts from 'typescript';

/** The kit's package name, and the module that provides `tf`. */
const KIT = 'attention-kit';
const TFJS = '@tensorflow/tfjs';

export interface Finding {
  /** Index of the cell in the submission. */
  cell: number;
  /** 1-based line in that cell. */
  line: number;
  /** What was used: a kit name (`maskedSoftmax`), a tf member (`tf.softmax`), or '*' for "could be anything". */
  name: string;
  /** Which namespace a '*' finding could reach: the kit, tf, or both. */
  reach: 'kit' | 'tf' | 'any';
  /** One line for the report. */
  message: string;
}

export interface SourceCell {
  index: number;
  source: string;
}

const REFLECTIVE_GLOBALS = new Set(['eval', 'Function', 'globalThis', 'global', 'module', 'require', 'process', 'Reflect', 'exports', '__non_webpack_require__']);

/** Analyse the learner's cells (the instructor's locked cells are not passed in). */
export function findLibraryUses(cells: readonly SourceCell[], watchedNames: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  // Names bound to the kit's namespace or to tf, across cells (tslab shares one scope).
  const kitNamespaces = new Set<string>();
  const tfNamespaces = new Set<string>(['tf']);
  // Names the learner declares themselves: a reference to these is not a library use.
  const ownNames = new Set<string>();
  const files = cells.map((c) => ({ cell: c, file: ts.createSourceFile(`cell${c.index}.ts`, c.source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS) }));

  // Pass 1: declarations and imports.
  for (const { cell, file } of files) {
    const add = (node: ts.Node, name: string, reach: Finding['reach'], message: string): void => {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      findings.push({ cell: cell.index, line: line + 1, name, reach, message });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) || (ts.isExportDeclaration(node) && node.moduleSpecifier)) {
        const spec = node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : '(computed)';
        if (spec !== KIT && spec !== TFJS) {
          add(node, '*', 'any', `imports '${spec}': only '${KIT}' and '${TFJS}' may be imported in graded work`);
        } else if (ts.isImportDeclaration(node)) {
          const clause = node.importClause;
          if (clause?.name) (spec === KIT ? kitNamespaces : tfNamespaces).add(clause.name.text);
          const bindings = clause?.namedBindings;
          if (bindings && ts.isNamespaceImport(bindings)) (spec === KIT ? kitNamespaces : tfNamespaces).add(bindings.name.text);
          if (bindings && ts.isNamedImports(bindings)) {
            for (const el of bindings.elements) {
              const imported = (el.propertyName ?? el.name).text;
              if (spec === TFJS) {
                if (watchedNames.has(`tf.${imported}`)) add(el, `tf.${imported}`, 'tf', `imports ${imported} from '${TFJS}'`);
              } else if (imported === 'tf') {
                tfNamespaces.add(el.name.text);
              } else if (watchedNames.has(imported)) {
                add(el, imported, 'kit', `imports ${imported} from '${KIT}'${el.propertyName ? ` as ${el.name.text}` : ''}`);
              }
            }
          }
        } else if (ts.isExportDeclaration(node)) {
          if (!node.exportClause || !ts.isNamedExports(node.exportClause)) {
            add(node, '*', spec === KIT ? 'kit' : 'tf', `re-exports everything from '${spec}'`);
          } else {
            for (const el of node.exportClause.elements) {
              const imported = (el.propertyName ?? el.name).text;
              const name = spec === TFJS ? `tf.${imported}` : imported;
              if (watchedNames.has(name) || imported === 'tf') add(el, imported === 'tf' ? '*' : name, spec === KIT && imported !== 'tf' ? 'kit' : 'tf', `re-exports ${imported} from '${spec}'`);
            }
          }
        }
      } else if (ts.isImportEqualsDeclaration(node)) {
        add(node, '*', 'any', 'uses `import … = require(…)`');
      } else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) {
        ownNames.add(node.name.text);
      } else if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) {
        ownNames.add(node.name.text);
      } else if (ts.isParameter(node) && ts.isIdentifier(node.name)) {
        ownNames.add(node.name.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }

  // Pass 2: references.
  for (const { cell, file } of files) {
    const add = (node: ts.Node, name: string, reach: Finding['reach'], message: string): void => {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      findings.push({ cell: cell.index, line: line + 1, name, reach, message });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportEqualsDeclaration(node)) return;
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        add(node, '*', 'any', 'uses dynamic `import()`');
      }
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'constructor') {
        add(node, '*', 'any', 'uses `.constructor` (a way to reach `Function` and evaluate code)');
      }
      if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'constructor') {
        add(node, '*', 'any', "uses ['constructor'] (a way to reach `Function` and evaluate code)");
      }
      if (ts.isWithStatement(node)) add(node, '*', 'any', 'uses a `with` statement');
      if (ts.isIdentifier(node) && !isDeclarationName(node) && !isPropertyName(node)) {
        const text = node.text;
        const isKit = kitNamespaces.has(text) && !ownNames.has(text);
        const isTf = tfNamespaces.has(text) && !ownNames.has(text);
        if (isKit || isTf) {
          checkNamespaceUse(node, isKit ? 'kit' : 'tf', add, watchedNames);
        } else if (REFLECTIVE_GLOBALS.has(text) && !ownNames.has(text)) {
          if (!(text === 'process' && isHarmlessProcessUse(node))) {
            add(node, '*', 'any', `uses \`${text}\`, which can reach the library without naming it`);
          }
        } else if (watchedNames.has(text) && !ownNames.has(text)) {
          add(node, text, 'kit', `uses ${text}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return findings;
}

function isDeclarationName(node: ts.Identifier): boolean {
  const p = node.parent;
  return (
    ((ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p) || ts.isVariableDeclaration(p) || ts.isParameter(p) ||
      ts.isFunctionExpression(p) || ts.isInterfaceDeclaration(p) || ts.isTypeAliasDeclaration(p) || ts.isMethodDeclaration(p) ||
      ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isBindingElement(p)) &&
      p.name === node)
  );
}

/** `x.name`, `{ name: … }`, and type member names are not references to a variable `name`. */
function isPropertyName(node: ts.Identifier): boolean {
  const p = node.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === node) return true;
  if (ts.isQualifiedName(p) && p.right === node) return true;
  if (ts.isPropertyAssignment(p) && p.name === node) return true;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return true;
  return false;
}

/** `process.env.X` reads and `process.stdout` are common and cannot reach the library. */
function isHarmlessProcessUse(node: ts.Identifier): boolean {
  const p = node.parent;
  return ts.isPropertyAccessExpression(p) && p.expression === node && ['env', 'stdout', 'hrtime', 'memoryUsage', 'platform'].includes(p.name.text);
}

function checkNamespaceUse(
  node: ts.Identifier,
  space: 'kit' | 'tf',
  add: (node: ts.Node, name: string, reach: Finding['reach'], message: string) => void,
  watchedNames: ReadonlySet<string>,
): void {
  const p = node.parent;
  const qualify = (member: string): string => (space === 'tf' ? `tf.${member}` : member);
  // Type positions (`tf.Tensor`, `typeof kit`) cannot call anything.
  if (ts.isQualifiedName(p) || ts.isTypeQueryNode(p) || ts.isTypeReferenceNode(p)) return;
  if (ts.isPropertyAccessExpression(p) && p.expression === node) {
    const name = qualify(p.name.text);
    if (watchedNames.has(name)) add(p, name, space, `uses ${node.text}.${p.name.text}`);
    return;
  }
  if (ts.isElementAccessExpression(p) && p.expression === node) {
    const arg = p.argumentExpression;
    if (ts.isStringLiteralLike(arg)) {
      const name = qualify(arg.text);
      if (watchedNames.has(name)) add(p, name, space, `uses ${node.text}['${arg.text}']`);
      return;
    }
    add(p, '*', space, `computes a member name on ${node.text} (${node.text}[…]): the grader cannot tell which function it reaches`);
    return;
  }
  add(node, '*', space, `passes the ${space === 'kit' ? 'library' : 'tf'} namespace \`${node.text}\` around: the grader cannot follow what it calls`);
}

/** Does this finding take away a part whose off-limits list is `offLimits`? */
export function findingHits(finding: Finding, offLimits: readonly string[]): boolean {
  if (offLimits.length === 0) return false;
  if (finding.name !== '*') return offLimits.includes(finding.name);
  const hasTf = offLimits.some((n) => n.startsWith('tf.'));
  const hasKit = offLimits.some((n) => !n.startsWith('tf.'));
  return finding.reach === 'any' ? true : finding.reach === 'tf' ? hasTf : hasKit;
}
