"""Offline tooling: run the real Pulumi program under Pulumi's mock runtime, answer data-source
calls from recorded AWS data, and render the plan. Not imported by the program itself."""
