import { Construct, IConstruct } from "constructs";
import { Aspects, IAspect, TerraformStack } from "cdktf";

/** The name the library is installed under, for error messages. */
const LIBRARY = "codebuild-docker-modules";

function where(pkg: string): string {
  try {
    return require.resolve(`${pkg}/package.json`).replace(/[/\\]package\.json$/, "");
  } catch {
    return pkg;
  }
}

/** Thrown when a construct of the library is given a scope from another copy of cdktf or constructs. */
export class LibraryCopyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LibraryCopyError";
  }
}

/**
 * Returns `scope` when it comes from the same copies of `constructs` and `cdktf` as the library,
 * and throws one line otherwise. Two copies break silently: aspects (the policy pack) registered
 * with one copy never run in the other's synth, so the check is loud instead.
 */
export function sameCopy<T extends IConstruct>(scope: T, construct: string, id: string): T {
  const fix =
    `install the library so that it shares your app's copy: from its tarball, or by path with "npm install --install-links <path>" ` +
    `(a plain path install links the checkout, whose own node_modules holds another copy); "npm ls cdktf constructs" lists the copies`;
  if (!(scope instanceof Construct)) {
    throw new LibraryCopyError(
      `${construct} '${id}': the scope ${JSON.stringify(scope?.node?.path ?? String(scope))} comes from another copy of "constructs" than the one ${LIBRARY} loads (${where("constructs")}): ${fix}`,
    );
  }
  let stack: IConstruct;
  try {
    stack = TerraformStack.of(scope);
  } catch {
    return scope; // not inside a stack: the construct's own checks report that
  }
  if (!(stack instanceof TerraformStack)) {
    throw new LibraryCopyError(
      `${construct} '${id}': the stack ${JSON.stringify(stack.node.path)} comes from another copy of "cdktf" than the one ${LIBRARY} loads (${where("cdktf")}): ${fix}`,
    );
  }
  runAncestorAspects(stack);
  return scope;
}

/** The aspects that check the stacks under the construct they were added to (the policy pack), by aspect. */
const aboveStacksChecks = new WeakMap<IAspect, (stack: TerraformStack) => string[]>();

/**
 * Registers how `aspect` checks a stack when it was added above the stacks (to the app): it visits
 * the stack's constructs and returns the stack's errors. See {@link runAncestorAspects}.
 */
export function checkFromAboveStacks(aspect: IAspect, check: (stack: TerraformStack) => string[]): void {
  aboveStacksChecks.set(aspect, check);
}

const hooked = new WeakSet<IConstruct>();

/**
 * cdktf invokes aspects from each stack down, so an aspect added to the app (`Aspects.of(app).add`,
 * as cdk-nag users do) never runs, silently. For the aspects registered with
 * {@link checkFromAboveStacks}, `stack` gets (once) a validation, run after the stack's own aspects
 * and before its JSON is written, that has each such aspect of the stack's ancestors check the
 * stack. Library constructs call it for their stack; `PolicyPack.applyTo(app)` for the stacks it finds.
 */
export function runAncestorAspects(stack: TerraformStack): void {
  if (hooked.has(stack)) return;
  hooked.add(stack);
  stack.node.addValidation({
    validate: () => {
      const own = Aspects.of(stack).all;
      return stack.node.scopes
        .slice(0, -1)
        .flatMap((c) => Aspects.of(c).all)
        .filter((a) => !own.includes(a))
        .flatMap((a) => aboveStacksChecks.get(a)?.(stack) ?? []);
    },
  });
}
