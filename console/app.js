// SPDX-License-Identifier: Apache-2.0
// The console's entry point; the pages follow in the next change.
const app = document.getElementById("app");
app.textContent = "The Switchboard console is being built: use the API or the CLI for now.";
