from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self) -> None:
        from pipeline import scheduler

        # The beat schedule inside `runserver` in the embedded default (pipeline.scheduler).
        scheduler.start()
