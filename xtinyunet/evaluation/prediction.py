"""A trained model's network, and its predictions of a test set: nnU-Net's predictor, given the
network that the model's trainer builds.

Every place that runs a trained model (prediction, the deployment's export and measurements)
loads it through load_predictor.
"""

from __future__ import annotations

from pathlib import Path

from xtinyunet.io import read_json
from xtinyunet.names import CHECKPOINT, NO_DEEP_SUPERVISION
from xtinyunet.nnunet_compat import load_checkpoint
from xtinyunet.training.runs import trainer_class
from xtinyunet.training.trainer_names import SHORT_TRAINER


def inference_network(trainer: str, plans_manager, configuration, dataset_json: dict):
    """The network trainer `trainer` builds for inference (deep supervision off).

    This project's short trainers keep nnUNetTrainer.build_network_architecture, which is
    get_network_from_plans: called here directly, without importing nnU-Net's trainer module
    (seaborn, torch._dynamo: a large share of a prediction job). Other trainers build their own.
    """
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels

    inputs = determine_num_input_channels(plans_manager, configuration, dataset_json)
    outputs = plans_manager.get_label_manager(dataset_json).num_segmentation_heads
    if SHORT_TRAINER.fullmatch(trainer.removesuffix(NO_DEEP_SUPERVISION)):
        return get_network_from_plans(
            configuration.network_arch_class_name,
            configuration.network_arch_init_kwargs,
            configuration.network_arch_init_kwargs_req_import,
            inputs,
            outputs,
            allow_init=True,
            deep_supervision=False,
        )
    return trainer_class(trainer).build_network_architecture(
        plans_manager, configuration, inputs, outputs, enable_deep_supervision=False
    )


def load_predictor(model_folder, fold: int, device: str = "cpu", *, progress_bars: bool = True):
    """nnU-Net's predictor holding one fold's final checkpoint, its network in eval mode.

    Set up as nnU-Net's initialize_from_trained_model_folder does, but with the network of
    inference_network() instead of nnU-Net's search for the trainer class, which imports every
    trainer module of nnunetv2 (most of a small test set's job).
    """
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    model_folder = Path(model_folder)
    checkpoint_file = model_folder / f"fold_{fold}" / CHECKPOINT
    if not checkpoint_file.is_file():
        raise FileNotFoundError(f"{checkpoint_file}: missing")
    dataset_json = read_json(model_folder / "dataset.json")
    plans_manager = PlansManager(read_json(model_folder / "plans.json"))
    # Weights only: a results folder may come from someone else (the audit loads its models).
    checkpoint = load_checkpoint(checkpoint_file)
    configuration = plans_manager.get_configuration(checkpoint["init_args"]["configuration"])
    network = inference_network(
        checkpoint["trainer_name"], plans_manager, configuration, dataset_json
    )
    network.load_state_dict(checkpoint["network_weights"])
    predictor = nnUNetPredictor(device=torch.device(device), allow_tqdm=progress_bars)
    predictor.manual_initialization(
        network,
        plans_manager,
        configuration,
        [checkpoint["network_weights"]],
        dataset_json,
        checkpoint["trainer_name"],
        checkpoint.get("inference_allowed_mirroring_axes"),
    )
    predictor.network.eval()
    return predictor


def predict(model_folder, fold: int, images_dir, output_dir, device: str) -> None:
    """Segment every image of `images_dir` with one fold's final checkpoint (default settings).

    Sequential prediction, in this process: the worker pools of predict_from_files cost more to
    start than predicting a test set of small images.
    """
    predictor = load_predictor(model_folder, fold, device)
    # Unlike predict_from_files, the sequential variant writes into output_dir without creating it.
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    predictor.predict_from_files_sequential(
        str(images_dir), str(output_dir), save_probabilities=False, overwrite=True
    )
