"""The yardstick of a command through Typer (`cc who`): a bare Typer app of two commands,
run as `python hello_two.py hello`. With two commands Typer builds a group and parses a
command name, as `cc` does; with one it would run the command without a name."""

import typer

app = typer.Typer()


@app.command()
def hello() -> None:
    print("hello")


@app.command()
def bye() -> None:
    print("bye")


if __name__ == "__main__":
    app()
