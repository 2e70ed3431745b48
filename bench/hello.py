"""The yardstick of `cc status`: the least a Typer command costs to start and print."""

import typer

app = typer.Typer()


@app.command()
def hello() -> None:
    print("hello")


if __name__ == "__main__":
    app()
